package io.featureflags;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Loads the JNI library once: from the system property {@code featureflags.library.path}
 * (a file), else {@code System.loadLibrary("featureflags_jni")}, else the copy packed in
 * the jar under {@code native/<os>-<arch>/}, extracted to a temporary file.
 */
final class NativeLoader {
    private static boolean loaded;

    private NativeLoader() {}

    static synchronized void load() {
        if (loaded) {
            return;
        }
        String explicit = System.getProperty("featureflags.library.path");
        if (explicit != null && !explicit.isEmpty()) {
            System.load(Path.of(explicit).toAbsolutePath().toString());
            loaded = true;
            return;
        }
        try {
            System.loadLibrary("featureflags_jni");
            loaded = true;
            return;
        } catch (UnsatisfiedLinkError notOnLibraryPath) {
            // Fall through to the copy in the jar.
        }
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT).startsWith("linux") ? "linux" : System.getProperty("os.name").toLowerCase(Locale.ROOT);
        String resource = "/native/" + os + "-" + System.getProperty("os.arch") + "/libfeatureflags_jni.so";
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new UnsatisfiedLinkError("featureflags: no native library at " + resource
                        + " (set -Dfeatureflags.library.path=/path/to/libfeatureflags_jni.so)");
            }
            Path file = Files.createTempFile("featureflags_jni", ".so");
            file.toFile().deleteOnExit();
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            System.load(file.toAbsolutePath().toString());
            loaded = true;
        } catch (IOException e) {
            throw new UnsatisfiedLinkError("featureflags: cannot extract " + resource + ": " + e);
        }
    }

    /**
     * Refuses a native library built for another C ABI than the one the Java side wraps:
     * its calls and structs may differ from those the glue uses.
     *
     * @param library the library's ABI version ({@code ff_abi_version})
     * @param wrapped the ABI version this binding wraps
     * @throws UnsatisfiedLinkError naming both versions when they differ
     */
    static void checkAbi(int library, int wrapped) {
        if (library != wrapped) {
            throw new UnsatisfiedLinkError("featureflags: the native library has ABI version " + library
                    + ", this binding needs ABI version " + wrapped);
        }
    }
}
