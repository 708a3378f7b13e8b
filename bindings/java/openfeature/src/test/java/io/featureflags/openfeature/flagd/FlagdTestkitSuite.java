package io.featureflags.openfeature.flagd;

import static io.cucumber.junit.platform.engine.Constants.GLUE_PROPERTY_NAME;
import static io.cucumber.junit.platform.engine.Constants.PLUGIN_PROPERTY_NAME;

import org.junit.platform.suite.api.ConfigurationParameter;
import org.junit.platform.suite.api.IncludeEngines;
import org.junit.platform.suite.api.SelectPackages;
import org.junit.platform.suite.api.Suite;

/**
 * flagd's evaluator testkit (open-feature/flagd-testbed): every row of
 * {@code evaluator/gherkin/*.feature} over {@code evaluator/flags/testkit-flags.json}, run
 * by Cucumber through an OpenFeature client of a {@code FeatureFlagsProvider.flagd}
 * provider. The feature files are outside the repository: {@code cucumber.features} is set
 * by the pom from {@code flagd.testbed} (FLAGD_TESTBED, else ../shared/flagd-testbed), which
 * overrides the package selected here. {@link FlagdTestbedTest} says when it is missing.
 * {@link RowCounter} prints the rows per file; {@code @fractional-v1} rows are excluded
 * (reported as skipped).
 */
@Suite(failIfNoTests = false)
@IncludeEngines("cucumber")
@SelectPackages("io.featureflags.openfeature.flagd")
@ConfigurationParameter(key = GLUE_PROPERTY_NAME, value = "io.featureflags.openfeature.flagd")
@ConfigurationParameter(key = PLUGIN_PROPERTY_NAME, value = "io.featureflags.openfeature.flagd.RowCounter")
public class FlagdTestkitSuite {}
