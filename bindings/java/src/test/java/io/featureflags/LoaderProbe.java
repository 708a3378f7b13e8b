package io.featureflags;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;

/**
 * Run in a child JVM by {@link NativeLoaderTest}: loads the library, evaluates a flag and
 * prints {@code loaded <file>}. {@code two-loaders} does it in two more class loaders;
 * {@code wait} then blocks until killed.
 */
public final class LoaderProbe {
    private LoaderProbe() {}

    /**
     * Loads, evaluates and reports.
     *
     * @param args {@code two-loaders}, {@code wait} or nothing
     * @throws Exception when loading or evaluating fails
     */
    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "";
        System.out.println(evaluate(LoaderProbe.class.getClassLoader()));
        if (mode.equals("two-loaders")) {
            URL classes = LoaderProbe.class.getClassLoader().getResource("io/featureflags/FeatureFlags.class");
            String root = classes.toString().substring(0, classes.toString().length() - "io/featureflags/FeatureFlags.class".length());
            for (int i = 0; i < 2; i++) {
                try (URLClassLoader loader = new URLClassLoader(new URL[] {new URL(root)}, ClassLoader.getPlatformClassLoader())) {
                    System.out.println(evaluate(loader));
                }
            }
        }
        System.out.flush();
        if (mode.equals("wait")) {
            Thread.sleep(Long.MAX_VALUE);
        }
    }

    /** "loaded <file> enabled=<true|false>" from the classes of {@code loader}. */
    private static String evaluate(ClassLoader loader) throws Exception {
        Class<?> flags = Class.forName("io.featureflags.FeatureFlags", true, loader);
        Class<?> context = Class.forName("io.featureflags.EvaluationContext", true, loader);
        Object ff = flags.getMethod("create").invoke(null);
        flags.getMethod("loadJson", String.class).invoke(ff, "{\"schema_version\": 1, \"flags\": {\"on\": {\"type\": \"boolean\"}}}");
        Object ctx = context.getMethod("of", String.class).invoke(null, "u");
        Object on = flags.getMethod("isEnabled", String.class, context, boolean.class).invoke(ff, "on", ctx, false);
        context.getMethod("close").invoke(ctx);
        flags.getMethod("close").invoke(ff);
        Method from = Class.forName("io.featureflags.NativeLoader", false, loader).getDeclaredMethod("loadedFrom");
        from.setAccessible(true);
        return "loaded " + from.invoke(null) + " enabled=" + on;
    }
}
