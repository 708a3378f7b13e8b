package io.featureflags;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.UUID;

/**
 * Loads the JNI library once per class loader, trying in order:
 * <ol>
 * <li>the file named by the system property {@code featureflags.library.path};
 * <li>{@code System.loadLibrary("featureflags_jni")} ({@code java.library.path});
 * <li>the copy packed in the jar under {@code native/<os>-<arch>-<libc>/} (e.g.
 * {@code native/linux-x86_64-gnu/}, {@code native/linux-x86_64-musl/}), extracted to
 * {@code libfeatureflags_jni-<sha256>.so} in the first directory where it loads:
 * {@code featureflags.native.dir} if set, {@code <java.io.tmpdir>/featureflags-<user>},
 * then {@code $XDG_CACHE_HOME/featureflags/jni} (default {@code ~/.cache/featureflags/jni}).
 * </ol>
 * The extracted file is reused by later starts; files of other versions and copies left
 * by killed processes are deleted under a file lock, so a directory holds one library.
 * A directory mounted {@code noexec} fails to map the library and the next one is tried.
 */
final class NativeLoader {
    static final String PATH_PROPERTY = "featureflags.library.path";
    static final String DIR_PROPERTY = "featureflags.native.dir";
    static final String LIBRARY = "libfeatureflags_jni";

    /**
     * A string literal is one object in the whole JVM, whichever class loader loaded this
     * class: the monitor that keeps two loaders of this class from taking the directory's
     * file lock at once (the JVM refuses a second lock on one file from the same process).
     */
    private static final String JVM_WIDE_MONITOR = "io.featureflags.NativeLoader";

    /** What JNI says when a library is loaded by another class loader (any JDK since 7). */
    private static final String OTHER_LOADER = "already loaded in another classloader";

    private static boolean loaded;
    /** Where the library came from, for tests and error reports. */
    private static String loadedFrom;

    private NativeLoader() {}

    static synchronized void load() {
        if (loaded) {
            return;
        }
        String explicit = System.getProperty(PATH_PROPERTY);
        if (explicit != null && !explicit.isEmpty()) {
            loadExplicit(Path.of(explicit).toAbsolutePath());
        } else if (!loadFromLibraryPath()) {
            loadFromJar();
        }
        loaded = true;
    }

    static synchronized String loadedFrom() {
        return loadedFrom;
    }

    private static void loadExplicit(Path file) {
        try {
            System.load(file.toString());
            loadedFrom = file.toString();
        } catch (UnsatisfiedLinkError e) {
            if (!String.valueOf(e.getMessage()).contains(OTHER_LOADER)) {
                throw new UnsatisfiedLinkError("featureflags: cannot load " + file + " (-D" + PATH_PROPERTY + "): " + e.getMessage());
            }
            byte[] library;
            try {
                library = Files.readAllBytes(file);
            } catch (IOException read) {
                throw new UnsatisfiedLinkError("featureflags: cannot read " + file + " (-D" + PATH_PROPERTY + "): " + read);
            }
            extractAndLoad(library, file.toString());
        }
    }

    private static boolean loadFromLibraryPath() {
        try {
            System.loadLibrary("featureflags_jni");
            loadedFrom = "java.library.path";
            return true;
        } catch (UnsatisfiedLinkError absentOrTakenByAnotherLoader) {
            return false;
        }
    }

    private static void loadFromJar() {
        String platform = platform();
        String resource = "/native/" + platform + "/" + LIBRARY + ".so";
        byte[] library;
        try (InputStream in = NativeLoader.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new UnsatisfiedLinkError("featureflags: this jar has no native library for " + platform + " (" + resource
                        + "); set -D" + PATH_PROPERTY + "=/path/to/" + LIBRARY + ".so");
            }
            library = in.readAllBytes();
        } catch (IOException e) {
            throw new UnsatisfiedLinkError("featureflags: cannot read " + resource + " from the jar: " + e);
        }
        extractAndLoad(library, "jar:" + resource);
    }

    /** {@code linux-x86_64-gnu}, {@code linux-x86_64-musl}, {@code linux-aarch64-gnu}, ... */
    static String platform() {
        String os = System.getProperty("os.name").toLowerCase(Locale.ROOT).replace(" ", "");
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        if (arch.equals("amd64") || arch.equals("x86_64")) {
            arch = "x86_64";
        } else if (arch.equals("arm64") || arch.equals("aarch64")) {
            arch = "aarch64";
        }
        if (!os.equals("linux")) {
            return os + "-" + arch;
        }
        return "linux-" + arch + (isMusl() ? "-musl" : "-gnu");
    }

    /** The JVM runs on musl when musl's dynamic loader is mapped into this process. */
    private static boolean isMusl() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/maps"))) {
                if (line.contains("/ld-musl-") || line.contains("/libc.musl-")) {
                    return true;
                }
            }
            return false;
        } catch (IOException | RuntimeException noProc) {
            try (DirectoryStream<Path> loaders = Files.newDirectoryStream(Path.of("/lib"), "ld-musl-*")) {
                return loaders.iterator().hasNext();
            } catch (IOException | RuntimeException noLib) {
                return false;
            }
        }
    }

    /** The directories the jar's library is extracted to, in the order they are tried. */
    static List<Path> candidateDirectories() {
        List<Path> dirs = new ArrayList<>();
        String configured = System.getProperty(DIR_PROPERTY);
        if (configured != null && !configured.isEmpty()) {
            dirs.add(Path.of(configured).toAbsolutePath());
        }
        dirs.add(Path.of(System.getProperty("java.io.tmpdir"), "featureflags-" + System.getProperty("user.name")).toAbsolutePath());
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path cache = xdg != null && !xdg.isEmpty() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        dirs.add(cache.resolve("featureflags").resolve("jni").toAbsolutePath());
        return dirs;
    }

    private static void extractAndLoad(byte[] library, String source) {
        String name = LIBRARY + "-" + sha256(library) + ".so";
        List<String> failures = new ArrayList<>();
        for (Path dir : candidateDirectories()) {
            try {
                String from = extractAndLoadIn(dir, name, library);
                loadedFrom = from + " (from " + source + ")";
                return;
            } catch (IOException | UnsatisfiedLinkError | SecurityException e) {
                failures.add(dir + ": " + e.getMessage());
            }
        }
        throw new UnsatisfiedLinkError("featureflags: cannot load the native library (" + source + ") from any directory: "
                + String.join("; ", failures) + ". A directory mounted noexec cannot hold it: set -D" + DIR_PROPERTY
                + "=<a writable directory on a filesystem mounted with exec>, or -D" + PATH_PROPERTY + "=/path/to/" + LIBRARY + ".so");
    }

    /**
     * Under the directory's file lock (other processes) and a JVM-wide monitor (other class
     * loaders): deletes what earlier runs left, writes the library unless an identical file
     * is there, and loads it. A class loader after the first gets its own short-lived copy,
     * since JNI refuses one file in two loaders; the copy is deleted once loaded (the
     * mapping stays).
     *
     * @return the file loaded
     */
    private static String extractAndLoadIn(Path dir, String name, byte[] library) throws IOException {
        synchronized (JVM_WIDE_MONITOR) {
            prepareDirectory(dir);
            try (FileChannel lockFile = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                lockFile.lock(); // released when the channel closes
                deleteLeftovers(dir, name);
                Path target = dir.resolve(name);
                if (!Files.isRegularFile(target, LinkOption.NOFOLLOW_LINKS) || !Arrays.equals(Files.readAllBytes(target), library)) {
                    Path partial = write(dir, name, library);
                    Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                }
                try {
                    System.load(target.toString());
                    return target.toString();
                } catch (UnsatisfiedLinkError e) {
                    if (!String.valueOf(e.getMessage()).contains(OTHER_LOADER)) {
                        // Unloadable here (noexec): leave nothing behind in this directory.
                        Files.deleteIfExists(target);
                        throw e;
                    }
                }
                Path copy = write(dir, name, library);
                try {
                    System.load(copy.toString());
                    return copy.toString();
                } finally {
                    Files.deleteIfExists(copy);
                }
            }
        }
    }

    /**
     * Creates the directory private to this user. A directory under a shared tmpdir that
     * someone else owns or can write to is refused: they could swap the library for theirs.
     */
    private static void prepareDirectory(Path dir) throws IOException {
        Set<PosixFilePermission> ownerOnly = PosixFilePermissions.fromString("rwx------");
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            Files.createDirectories(dir.getParent());
            try {
                Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(ownerOnly));
            } catch (java.nio.file.FileAlreadyExistsException raced) {
                // Another process made it: checked below like any existing directory.
            }
        }
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            throw new IOException("not a directory");
        }
        // /proc/self belongs to the process's user: uids compare where user names may not
        // resolve (a container's uid without a passwd entry).
        Object uid = Files.getAttribute(Path.of("/proc/self"), "unix:uid");
        Object owner = Files.getAttribute(dir, "unix:uid", LinkOption.NOFOLLOW_LINKS);
        if (!owner.equals(uid)) {
            throw new IOException("owned by uid " + owner + ", not by this process's uid " + uid);
        }
        Set<PosixFilePermission> permissions = Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS);
        if (permissions.contains(PosixFilePermission.GROUP_WRITE) || permissions.contains(PosixFilePermission.OTHERS_WRITE)) {
            throw new IOException("writable by other users (" + PosixFilePermissions.toString(permissions) + ")");
        }
    }

    /**
     * Libraries of other versions and partial or per-loader copies of killed processes.
     * Safe under the lock: a process that loaded one keeps its mapping after the unlink,
     * and no live process is writing a copy.
     */
    private static void deleteLeftovers(Path dir, String keep) throws IOException {
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir, LIBRARY + "-*")) {
            for (Path file : files) {
                if (!file.getFileName().toString().equals(keep)) {
                    Files.deleteIfExists(file);
                }
            }
        }
    }

    private static Path write(Path dir, String name, byte[] library) throws IOException {
        Path partial = dir.resolve(name + "." + UUID.randomUUID() + ".tmp");
        Files.write(partial, library, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        Files.setPosixFilePermissions(partial, PosixFilePermissions.fromString("r-x------"));
        return partial;
    }

    private static String sha256(byte[] bytes) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(bytes);
            StringBuilder hex = new StringBuilder();
            for (int i = 0; i < 16; i++) {
                hex.append(String.format("%02x", digest[i]));
            }
            return hex.toString();
        } catch (NoSuchAlgorithmException everyJdkHasIt) {
            throw new IllegalStateException(everyJdkHasIt);
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
