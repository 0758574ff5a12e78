package dev.kotodama.harmony;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;

/** Python's spellings of JSON values, as the template's filters and concatenations produce them. */
class PythonValuesTests {

    private static final JsonMapper JSON = JsonMapper.builder().build();

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "1.0|1.0", "0.1|0.1", "1e-05|1e-05", "0.0001|0.0001", "1.5e16|1.5e+16", "1e16|1e+16",
            "1234567890123456.0|1234567890123456.0", "-2.25|-2.25", "5e-324|5e-324", "1.7976931348623157e308|1.7976931348623157e+308",
            "0.30000000000000004|0.30000000000000004", "123456789.125|123456789.125", "2.5e-7|2.5e-07", "-0.0|-0.0",
            "9007199254740993.0|9007199254740992.0", "1e22|1e+22", "1e23|1e+23", "100.0|100.0"})
    void floatsAreSpelledAsPythonsRepr(double value, String python) {
        assertThat(PythonValues.floatRepr(value, true)).isEqualTo(python);
    }

    @Test
    void tojsonIsJsonDumpsWithoutAsciiEscapes() {
        String json = "{\"a\":[1,2.0,true,null,\"x\"],\"名前\":{\"t\":\"tab\\there \\\"q\\\" \\\\ \\u0001 \\u007f é 🦊\"},\"big\":12345678901234567890}";
        assertThat(PythonValues.toJson(JSON.readTree(json))).isEqualTo(
                "{\"a\": [1, 2.0, true, null, \"x\"], \"名前\": {\"t\": \"tab\\there \\\"q\\\" \\\\ \\u0001 \u007f é 🦊\"}, "
                        + "\"big\": 12345678901234567890}");
        assertThat(PythonValues.toJson(JSON.readTree("{}"))).isEqualTo("{}");
        assertThat(PythonValues.toJson(JSON.readTree("[]"))).isEqualTo("[]");
    }

    @Test
    void strAndReprFollowPython() {
        assertThat(PythonValues.str(JSON.readTree("true"))).isEqualTo("True");
        assertThat(PythonValues.str(JSON.readTree("null"))).isEqualTo("None");
        assertThat(PythonValues.str(JSON.readTree("\"text\""))).isEqualTo("text");
        assertThat(PythonValues.str(JSON.readTree("[\"a\", 1, {\"k\": \"it's\"}]"))).isEqualTo("['a', 1, {'k': \"it's\"}]");
        assertThat(PythonValues.stringRepr("a'b\"c\n\u200b")).isEqualTo("'a\\'b\"c\\n\\u200b'");
    }

    @Test
    void truthIsPythons() {
        for (String falsy : new String[] {"null", "false", "0", "0.0", "\"\"", "[]", "{}"}) {
            assertThat(PythonValues.truthy(JSON.readTree(falsy))).as(falsy).isFalse();
        }
        for (String truthy : new String[] {"true", "1", "-0.5", "\" \"", "[0]", "{\"a\": null}"}) {
            assertThat(PythonValues.truthy(JSON.readTree(truthy))).as(truthy).isTrue();
        }
        assertThat(PythonValues.truthy(null)).isFalse();
    }
}
