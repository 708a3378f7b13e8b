package io.featureflags.openfeature.flagd;

import io.cucumber.plugin.ConcurrentEventListener;
import io.cucumber.plugin.event.EventPublisher;
import io.cucumber.plugin.event.Status;
import io.cucumber.plugin.event.TestCaseFinished;
import io.cucumber.plugin.event.TestRunFinished;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Prints the rows passed, failed and excluded per feature file, and the failures. */
public final class RowCounter implements ConcurrentEventListener {
    private final Map<String, int[]> counts = new TreeMap<>();
    private final List<String> failures = new ArrayList<>();

    @Override
    public void setEventPublisher(EventPublisher publisher) {
        publisher.registerHandlerFor(TestCaseFinished.class, this::finished);
        publisher.registerHandlerFor(TestRunFinished.class, e -> print());
    }

    private synchronized void finished(TestCaseFinished event) {
        String file = Path.of(event.getTestCase().getUri()).getFileName().toString();
        int[] c = counts.computeIfAbsent(file, f -> new int[3]);
        Status status = event.getResult().getStatus();
        if (status == Status.PASSED) {
            c[0]++;
        } else if (status == Status.SKIPPED && event.getTestCase().getTags().stream().anyMatch(Steps.EXCLUDED::containsKey)) {
            c[2]++;
        } else {
            c[1]++;
            Throwable error = event.getResult().getError();
            failures.add(file + ": " + event.getTestCase().getName() + " (line " + event.getTestCase().getLocation().getLine()
                    + "): " + status + (error != null ? ": " + error.getMessage() : ""));
        }
    }

    private synchronized void print() {
        StringBuilder out = new StringBuilder("flagd evaluator testkit through the OpenFeature Java SDK (")
                .append(Testkit.testbed()).append("):\n");
        int passed = 0, failed = 0, excluded = 0;
        for (Map.Entry<String, int[]> e : counts.entrySet()) {
            int[] c = e.getValue();
            out.append("  ").append(e.getKey()).append(": ").append(c[0]).append(" passed, ").append(c[1])
                    .append(" failed, ").append(c[2]).append(" excluded\n");
            passed += c[0];
            failed += c[1];
            excluded += c[2];
        }
        for (String f : failures) out.append("  FAILED ").append(f).append('\n');
        out.append("  total: ").append(passed).append(" passed, ").append(failed).append(" failed, ")
                .append(excluded).append(" excluded ").append(Steps.EXCLUDED.keySet()).append('\n');
        System.out.print(out);
    }
}
