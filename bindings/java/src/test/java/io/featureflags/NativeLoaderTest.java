package io.featureflags;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Loading the jar's library as deployments meet it, each in a child JVM whose tmpdir and
 * cache directory are fresh: a noexec tmpdir, several class loaders, killed processes.
 */
class NativeLoaderTest {
    @TempDir
    Path tmp;

    /** The output of a finished child JVM. */
    static final class Run {
        final int exit;
        final String out;
        final String err;

        Run(int exit, String out, String err) {
            this.exit = exit;
            this.out = out;
            this.err = err;
        }

        /** The files the child's class loaders loaded, in order. */
        List<String> loaded() {
            return out.lines().filter(l -> l.startsWith("loaded ")).map(l -> l.split(" ")[1]).collect(Collectors.toList());
        }
    }

    private ProcessBuilder child(Path tmpdir, Path cacheHome, List<String> properties, String mode) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-XX:TieredStopAtLevel=1");
        cmd.add("-Djava.io.tmpdir=" + tmpdir);
        cmd.addAll(properties);
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(LoaderProbe.class.getName());
        cmd.add(mode);
        ProcessBuilder pb = new ProcessBuilder(cmd);
        Map<String, String> env = pb.environment();
        env.put("XDG_CACHE_HOME", cacheHome.toString());
        return pb;
    }

    private Run run(Path tmpdir, Path cacheHome, List<String> properties, String mode) throws Exception {
        Process p = child(tmpdir, cacheHome, properties, mode).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "child JVM finished");
        return new Run(p.exitValue(), out, err);
    }

    /** The library files (extracted, partial or per-loader copies) in {@code dir}. */
    static List<String> libraries(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).filter(n -> n.startsWith(NativeLoader.LIBRARY)).sorted()
                    .collect(Collectors.toList());
        }
    }

    static void sh(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), String.join(" ", cmd) + ": " + out);
    }

    @Test
    void aNoexecTmpdirFallsBackToTheCacheDirectoryThenNamesTheProperty() throws Exception {
        // A tmpfs mounted noexec is what hardened hosts and containers put on /tmp.
        assumeTrue(System.getProperty("user.name").equals("root"), "mounting a tmpfs needs root");
        Path noexec = Files.createDirectory(tmp.resolve("noexec"));
        sh("mount", "-t", "tmpfs", "-o", "noexec,size=64m", "tmpfs", noexec.toString());
        try {
            Path cache = tmp.resolve("cache");
            Run fallback = run(noexec, cache, List.of(), "");
            assertEquals(0, fallback.exit, fallback.err);
            assertEquals(List.of(cache.resolve("featureflags/jni").toString()), fallback.loaded().stream()
                    .map(f -> Path.of(f).getParent().toString()).collect(Collectors.toList()), fallback.out);
            assertTrue(fallback.out.contains("enabled=true"), fallback.out);
            assertEquals(List.of(), libraries(noexec.resolve("featureflags-" + System.getProperty("user.name"))),
                    "nothing left where it could not load");

            Path configured = tmp.resolve("configured");
            Run property = run(noexec, cache, List.of("-D" + NativeLoader.DIR_PROPERTY + "=" + configured), "");
            assertEquals(0, property.exit, property.err);
            assertEquals(configured.toString(), Path.of(property.loaded().get(0)).getParent().toString(), "the property comes first");

            Run nowhere = run(noexec, noexec.resolve("cache"), List.of(), "");
            assertNotEquals(0, nowhere.exit);
            assertTrue(nowhere.err.contains("-D" + NativeLoader.DIR_PROPERTY + "="), nowhere.err);
            assertTrue(nowhere.err.contains("failed to map segment"), "the loader's reason for each directory: " + nowhere.err);
        } finally {
            sh("umount", noexec.toString());
        }
    }

    @Test
    void aTmpdirDirectoryOthersControlIsPassedOver() throws Exception {
        assumeTrue(System.getProperty("user.name").equals("root"), "giving a directory away needs root");
        Path dir = Files.createDirectory(tmp.resolve("featureflags-" + System.getProperty("user.name")));
        Path cache = tmp.resolve("cache");
        // Someone else's directory: they could swap the library between writing and loading.
        Files.setAttribute(dir, "unix:uid", 12345);
        Run foreign = run(tmp, cache, List.of(), "");
        assertEquals(0, foreign.exit, foreign.err);
        assertEquals(cache.resolve("featureflags/jni").toString(), Path.of(foreign.loaded().get(0)).getParent().toString());
        assertEquals(List.of(), libraries(dir));
        // Ours, but writable by the group.
        Files.setAttribute(dir, "unix:uid", 0);
        Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwx---"));
        Run shared = run(tmp, cache, List.of(), "");
        assertEquals(cache.resolve("featureflags/jni").toString(), Path.of(shared.loaded().get(0)).getParent().toString());
        assertEquals(List.of(), libraries(dir));
    }

    @Test
    void eachClassLoaderLoadsItsOwnCopyAndNoCopyStays() throws Exception {
        Path dir = tmp.resolve("featureflags-" + System.getProperty("user.name"));
        Run jar = run(tmp, tmp.resolve("cache"), List.of(), "two-loaders");
        assertEquals(0, jar.exit, jar.err);
        List<String> loaded = jar.loaded();
        assertEquals(3, loaded.size(), jar.out);
        assertEquals(3, loaded.stream().distinct().count(), "one file per class loader: " + loaded);
        assertEquals(3, jar.out.lines().filter(l -> l.endsWith("enabled=true")).count(), jar.out);
        List<String> left = libraries(dir);
        assertEquals(1, left.size(), "per-loader copies are deleted once loaded: " + left);
        assertEquals(dir.resolve(left.get(0)).toString(), loaded.get(0));

        // The explicit path is one file too: later class loaders get their own copy of it.
        Path explicit = Files.copy(dir.resolve(left.get(0)), tmp.resolve("libfeatureflags_jni.so"));
        Run property = run(tmp, tmp.resolve("cache"), List.of("-D" + NativeLoader.PATH_PROPERTY + "=" + explicit), "two-loaders");
        assertEquals(0, property.exit, property.err);
        assertEquals(explicit.toString(), property.loaded().get(0));
        assertEquals(3, property.out.lines().filter(l -> l.endsWith("enabled=true")).count(), property.out);
    }

    @Test
    void killedProcessesLeaveOneFileThatLaterStartsReuse() throws Exception {
        Path cache = tmp.resolve("cache");
        Path dir = tmp.resolve("featureflags-" + System.getProperty("user.name"));
        Process waiting = child(tmp, cache, List.of(), "wait").start();
        String first;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(waiting.getInputStream(), StandardCharsets.UTF_8))) {
            first = out.readLine();
            assertTrue(first != null && first.startsWith("loaded "), String.valueOf(first));
            waiting.destroyForcibly().waitFor();  // SIGKILL: no shutdown hook runs
        }
        Path library = Path.of(first.split(" ")[1]);
        Object inode = Files.getAttribute(library, "unix:ino");

        // What killed runs leave: a partial copy, and a library of another version.
        Files.write(dir.resolve(library.getFileName() + ".0b2c.tmp"), new byte[1024]);
        Files.write(dir.resolve(NativeLoader.LIBRARY + "-00000000000000000000000000000000.so"), new byte[1024]);
        // And runs killed anywhere in their start, extraction included.
        for (int delayMs = 50; delayMs <= 400; delayMs += 50) {
            Process p = child(tmp, cache, List.of(), "").start();
            Thread.sleep(delayMs);
            p.destroyForcibly().waitFor();
        }

        Run restart = run(tmp, cache, List.of(), "");
        assertEquals(0, restart.exit, restart.err);
        assertEquals(List.of(library.getFileName().toString()), libraries(dir));
        assertEquals(library.toString(), restart.loaded().get(0));
        assertEquals(inode, Files.getAttribute(library, "unix:ino"), "reused, not extracted again");
        assertEquals(List.of(), libraries(cache.resolve("featureflags/jni")), "the cache directory was not needed");
    }
}
