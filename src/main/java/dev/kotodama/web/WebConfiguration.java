package dev.kotodama.web;

import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.CacheControl;
import org.springframework.http.codec.ServerCodecConfigurer;
import org.springframework.web.reactive.config.ResourceHandlerRegistry;
import org.springframework.web.reactive.config.WebFluxConfigurer;

/**
 * The request size limit of {@code kotodama.web.max-request-size}, for every body the APIs read, and the
 * chat page's assets at {@code /assets/} (built from {@code frontend/src}; kept out of
 * {@code classpath:/static/} so that apps depending on this jar do not serve them).
 */
@Configuration(proxyBeanMethods = false)
@EnableConfigurationProperties(KotodamaWebProperties.class)
class WebConfiguration implements WebFluxConfigurer {

    private final KotodamaWebProperties properties;

    WebConfiguration(KotodamaWebProperties properties) {
        this.properties = properties;
    }

    @Override
    public void configureHttpMessageCodecs(ServerCodecConfigurer configurer) {
        configurer.defaultCodecs().maxInMemorySize((int) Math.min(Integer.MAX_VALUE, properties.maxRequestSize().toBytes()));
    }

    @Override
    public void addResourceHandlers(ResourceHandlerRegistry registry) {
        registry.addResourceHandler("/assets/**")
            .addResourceLocations("classpath:/dev/kotodama/web/static/")
            .setCacheControl(CacheControl.noCache());
    }
}
