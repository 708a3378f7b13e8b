package io.featureflags.openfeature.flagd;

import dev.openfeature.sdk.Client;
import dev.openfeature.sdk.OpenFeatureAPI;
import io.featureflags.FeatureFlags;
import io.featureflags.openfeature.FeatureFlagsProvider;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** The testkit's one provider, bound to a domain of its own, loaded once. */
final class Testkit {
    static final String DOMAIN = "flagd-testkit";
    private static Client client;

    private Testkit() {}

    /** The testbed: the pom's flagd.testbed (FLAGD_TESTBED, else beside the repository). */
    static Path testbed() {
        String env = System.getenv("FLAGD_TESTBED");
        String prop = System.getProperty("flagd.testbed");
        return Path.of(env != null && !env.isEmpty() ? env : prop != null ? prop : "../../../../shared/flagd-testbed")
                .toAbsolutePath().normalize();
    }

    static synchronized Client client() {
        if (client == null) {
            FeatureFlagsProvider provider = FeatureFlagsProvider.flagd(FeatureFlags.create());
            try {
                provider.loadFlagdFile(testbed().resolve("evaluator/flags/testkit-flags.json"));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            OpenFeatureAPI.getInstance().setProviderAndWait(DOMAIN, provider);
            client = OpenFeatureAPI.getInstance().getClient(DOMAIN);
        }
        return client;
    }
}
