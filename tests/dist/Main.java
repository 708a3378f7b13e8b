import io.featureflags.EvaluationContext;
import io.featureflags.FeatureFlags;

/** A Java program run against the released jar alone (scripts/test_dist.sh). */
public final class Main {
    public static void main(String[] args) {
        String config = "{\"schema_version\": 1, \"flags\": {\"beta\": {\"type\": \"boolean\", \"rules\": [{\"when\": "
                + "{\"attr\": \"country\", \"op\": \"equals\", \"value\": \"GB\"}, \"serve\": \"on\"}], \"default\": \"off\"}}}";
        try (FeatureFlags flags = FeatureFlags.create(); EvaluationContext ctx = EvaluationContext.of("user-42")) {
            flags.loadJson(config);
            ctx.set("country", "GB");
            String variant = flags.variant("beta", ctx, "none");
            System.out.println("Java: featureflags " + FeatureFlags.version() + ": beta = " + variant);
            if (!variant.equals("on")) {
                System.exit(1);
            }
        }
    }
}
