package dev.kotodama.ai;

import org.springframework.boot.autoconfigure.condition.AnyNestedCondition;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;

/** Matches when a model is to be served: {@code kotodama.model-dir} is set, or the demo model is on. */
class OnServedModelCondition extends AnyNestedCondition {

    OnServedModelCondition() {
        super(ConfigurationPhase.REGISTER_BEAN);
    }

    @ConditionalOnProperty(prefix = "kotodama", name = "model-dir")
    static class ModelDirectorySet {
    }

    @ConditionalOnProperty(prefix = "kotodama", name = "demo-model", havingValue = "true")
    static class DemoModelOn {
    }
}
