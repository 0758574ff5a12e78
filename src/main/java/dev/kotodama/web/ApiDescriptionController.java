package dev.kotodama.web;

import java.io.IOException;
import java.io.UncheckedIOException;

import org.springframework.core.io.ClassPathResource;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /v1/openapi.json}: the OpenAPI 3.1 description of the HTTP APIs, written by hand from
 * {@link ChatRequests} (the controllers read {@code JsonNode} bodies, so there is nothing to generate it
 * from) and kept in the jar beside this class. Like the APIs it describes, it needs the API key when one
 * is set. {@code ./test}'s contract suite fuzzes the app against it.
 */
@RestController
class ApiDescriptionController {

    static final String PATH = "/v1/openapi.json";

    static final String RESOURCE = "dev/kotodama/web/openapi.json";

    private final byte[] description;

    ApiDescriptionController() {
        try {
            this.description = new ClassPathResource(RESOURCE, ApiDescriptionController.class.getClassLoader())
                .getContentAsByteArray();
        }
        catch (IOException ex) {
            throw new UncheckedIOException("the API description " + RESOURCE + " is missing from the jar", ex);
        }
    }

    /** The description as JSON, whatever the request's {@code Accept} says (as the APIs answer). */
    @GetMapping(PATH)
    ResponseEntity<byte[]> description() {
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).body(description);
    }
}
