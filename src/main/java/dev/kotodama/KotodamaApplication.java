package dev.kotodama;

import dev.kotodama.engine.NativeLibraryCache;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

@SpringBootApplication
public class KotodamaApplication {

    public static void main(String[] args) {
        NativeLibraryCache.installDefault();
        SpringApplication.run(KotodamaApplication.class, args);
    }
}
