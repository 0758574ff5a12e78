package dev.kotodama;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;

@SpringBootApplication
public class KotodamaApplication {

    public static void main(String[] args) {
        SpringApplication.run(KotodamaApplication.class, args);
    }
}
