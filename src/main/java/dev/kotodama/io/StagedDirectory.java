package dev.kotodama.io;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A cache directory that appears whole or not at all: it is filled beside its place and then renamed
 * into it, so that a crash leaves no half-written copy, and two processes filling it at once both end
 * up with one complete copy.
 */
public final class StagedDirectory {

    /** Fills a staging directory. */
    @FunctionalInterface
    public interface Filler {
        void fill(Path staging) throws IOException;
    }

    private StagedDirectory() {
    }

    /**
     * {@code target}, created by {@code filler} unless it exists already.
     *
     * @throws IOException when the parent cannot be written
     */
    public static Path create(Path target, Filler filler) throws IOException {
        if (Files.isDirectory(target)) {
            return target;
        }
        Path parent = target.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Path staging = Files.createTempDirectory(parent, target.getFileName() + ".partial-");
        try {
            filler.fill(staging);
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (FileSystemException ex) {
            // rename(2) onto a directory that another process filled first fails (ENOTEMPTY, which Java
            // reports as a plain FileSystemException): that complete copy is the one to use
            if (!Files.isDirectory(target)) {
                throw ex;
            }
        }
        finally {
            if (Files.exists(staging)) {
                deleteTree(staging);
            }
        }
        return target;
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }
}
