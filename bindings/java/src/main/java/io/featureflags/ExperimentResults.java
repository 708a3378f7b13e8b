package io.featureflags;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** An experiment's results, typed (the full document is {@link #json()}; see docs/experiments.md). */
public final class ExperimentResults {
    /** One variant's figures for one metric. */
    public static final class VariantResult {
        private final Map<String, Object> row;

        VariantResult(Map<String, Object> row) {
            this.row = row;
        }

        private Double number(Map<String, Object> m, String key) {
            Object v = m == null ? null : m.get(key);
            return v instanceof Double ? (Double) v : null;
        }

        @SuppressWarnings("unchecked")
        private Map<String, Object> vsControl() {
            return (Map<String, Object>) row.get("vs_control");
        }

        /**
         * The variant's name.
         *
         * @return the name
         */
        public String name() {
            return (String) row.get("name");
        }

        /**
         * Exposed users.
         *
         * @return the count
         */
        public long users() {
            Double v = number(row, "users");
            return v == null ? 0 : v.longValue();
        }

        /**
         * Conversions (conversion metrics), else null.
         *
         * @return the count or null
         */
        public Long conversions() {
            Double v = number(row, "conversions");
            return v == null ? null : v.longValue();
        }

        /**
         * Conversion rate (conversion metrics) or mean per user (revenue, count).
         *
         * @return the rate or mean, or null when undefined
         */
        public Double rateOrMean() {
            Double rate = number(row, "rate");
            return rate != null ? rate : number(row, "mean");
        }

        /**
         * Relative uplift over the control.
         *
         * @return the uplift, or null for the control or when undefined
         */
        public Double relativeUplift() {
            return number(vsControl(), "relative_uplift");
        }

        /**
         * Two-sided p-value against the control.
         *
         * @return the p-value, or null for the control
         */
        public Double pValue() {
            return number(vsControl(), "p_value");
        }

        /**
         * Bayesian chance to beat the control.
         *
         * @return the probability, or null for the control
         */
        public Double chanceToBeat() {
            return number(vsControl(), "chance_to_beat");
        }

        /**
         * Whether the difference from the control is significant at the experiment's alpha.
         *
         * @return true when significant
         */
        public boolean significant() {
            Map<String, Object> v = vsControl();
            return v != null && Boolean.TRUE.equals(v.get("significant"));
        }
    }

    private final String json;
    private final Map<String, Object> doc;

    @SuppressWarnings("unchecked")
    ExperimentResults(String json) {
        this.json = json;
        this.doc = (Map<String, Object>) Json.parse(json);
    }

    /**
     * The whole results document.
     *
     * @return the JSON text
     */
    public String json() {
        return json;
    }

    /**
     * Exposed users in all variants.
     *
     * @return the count
     */
    public long exposures() {
        return ((Double) doc.get("exposures")).longValue();
    }

    /**
     * The decision: {@code continue}, {@code ship <variant>}, {@code stop: no effect} or
     * {@code stop: sample ratio mismatch}.
     *
     * @return the decision
     */
    public String decision() {
        return (String) doc.get("decision");
    }

    /**
     * Whether the users' split deviates from the configured weights (p &lt; 0.001).
     *
     * @return true on a sample ratio mismatch
     */
    public boolean sampleRatioMismatch() {
        return Boolean.TRUE.equals(doc.get("srm"));
    }

    /**
     * Per-variant figures of a metric, in the experiment's variant order.
     *
     * @param metric the metric's name
     * @return the variants (empty for an unknown metric)
     */
    @SuppressWarnings("unchecked")
    public List<VariantResult> metric(String metric) {
        Map<String, Object> metrics = (Map<String, Object>) doc.getOrDefault("metrics", new LinkedHashMap<>());
        Map<String, Object> analysis = (Map<String, Object>) metrics.get(metric);
        if (analysis == null) {
            return Collections.emptyList();
        }
        List<VariantResult> out = new ArrayList<>();
        for (Object row : (List<Object>) analysis.get("variants")) {
            out.add(new VariantResult((Map<String, Object>) row));
        }
        return out;
    }
}
