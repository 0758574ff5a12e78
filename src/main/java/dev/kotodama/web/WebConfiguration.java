package dev.kotodama.web;

import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Configuration;
import org.springframework.http.codec.ServerCodecConfigurer;
import org.springframework.web.reactive.config.WebFluxConfigurer;

/** The request size limit of {@code kotodama.web.max-request-size}, for every body the APIs read. */
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
}
