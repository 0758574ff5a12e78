package dev.kotodama.harmony;

import java.math.BigDecimal;
import java.math.MathContext;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.StringNode;

/**
 * What the chat template's Jinja expressions do to JSON values under transformers: Python's truth,
 * {@code str()} and {@code repr()}, {@code in}, and the {@code tojson} filter, which transformers defines
 * as {@code json.dumps(x, ensure_ascii=False)} (separators {@code ", "} and {@code ": "}, keys in their
 * order). Jinja's undefined is Java's null; Python's None is a null node.
 */
final class PythonValues {

    private PythonValues() {
    }

    /** {@code value.name} (and {@code value['name']}) on a mapping; undefined on anything else. */
    static @Nullable JsonNode attr(@Nullable JsonNode value, String name) {
        return value != null && value.isObject() ? value.get(name) : null;
    }

    static boolean truthy(@Nullable JsonNode value) {
        if (value == null || value.isNull() || value.isMissingNode()) {
            return false;
        }
        if (value.isBoolean()) {
            return value.booleanValue();
        }
        if (value.isIntegralNumber()) {
            return value.bigIntegerValue().signum() != 0;
        }
        if (value.isNumber()) {
            return value.doubleValue() != 0.0;
        }
        if (value.isString()) {
            return !value.stringValue().isEmpty();
        }
        return !value.isContainer() || !value.isEmpty();
    }

    /** {@code value == "text"}. */
    static boolean isText(@Nullable JsonNode value, String text) {
        return value != null && value.isString() && value.stringValue().equals(text);
    }

    /** The text of a value that Jinja concatenates with {@code +}, which Python allows for strings only. */
    static String concatenable(@Nullable JsonNode value, String what) {
        if (value == null || !value.isString()) {
            throw new InvalidConversationException(InvalidConversationException.Problem.INVALID_TOOL_DEFINITION,
                    what + " must be text for the chat template, but is " + (value == null ? "missing" : value));
        }
        return value.stringValue();
    }

    /** {@code name in (container or [])}. */
    static boolean containsOrEmpty(@Nullable JsonNode container, String name, String what) {
        if (!truthy(container)) {
            return false;
        }
        if (container.isString()) {
            return container.stringValue().contains(name);
        }
        if (container.isObject()) {
            return container.has(name);
        }
        if (container.isArray()) {
            for (JsonNode element : container) {
                if (isText(element, name)) {
                    return true;
                }
            }
            return false;
        }
        throw new InvalidConversationException(InvalidConversationException.Problem.INVALID_TOOL_DEFINITION,
                what + " must be a list of names, but is " + container);
    }

    /** What a Jinja {@code for} loop visits: a list's elements, a mapping's keys, a string's characters. */
    static List<JsonNode> iterate(JsonNode value, String what) {
        List<JsonNode> elements = new ArrayList<>();
        if (value.isArray()) {
            value.forEach(elements::add);
        }
        else if (value.isObject()) {
            value.propertyNames().forEach(name -> elements.add(StringNode.valueOf(name)));
        }
        else if (value.isString()) {
            value.stringValue().codePoints().forEach(c -> elements.add(StringNode.valueOf(Character.toString(c))));
        }
        else {
            throw new InvalidConversationException(InvalidConversationException.Problem.INVALID_TOOL_DEFINITION,
                    what + " must be a list, but is " + value);
        }
        return elements;
    }

    /** A mapping's {@code .items()}. */
    static Iterable<Map.Entry<String, JsonNode>> items(JsonNode value, String what) {
        if (!value.isObject()) {
            throw new InvalidConversationException(InvalidConversationException.Problem.INVALID_TOOL_DEFINITION,
                    what + " must be an object, but is " + value);
        }
        return value.properties();
    }

    /** Python's {@code len()} of a string: code points. */
    static int length(String text) {
        return text.codePointCount(0, text.length());
    }

    /** Python's {@code str()}, as Jinja's {@code join} and output apply it. */
    static String str(JsonNode value) {
        return value.isString() ? value.stringValue() : repr(value);
    }

    /** Python's {@code repr()} of the value json.loads would give. */
    static String repr(JsonNode value) {
        if (value.isString()) {
            return stringRepr(value.stringValue());
        }
        if (value.isNull() || value.isMissingNode()) {
            return "None";
        }
        if (value.isBoolean()) {
            return value.booleanValue() ? "True" : "False";
        }
        if (value.isIntegralNumber()) {
            return value.bigIntegerValue().toString();
        }
        if (value.isNumber()) {
            return floatRepr(value.doubleValue(), false);
        }
        if (value.isArray()) {
            return join(value.iterator(), "[", "]", PythonValues::repr);
        }
        if (value.isObject()) {
            return join(value.properties().iterator(), "{", "}",
                    e -> stringRepr(e.getKey()) + ": " + repr(e.getValue()));
        }
        return stringRepr(value.asString());
    }

    /** transformers' {@code tojson} filter: {@code json.dumps(value, ensure_ascii=False)}. */
    static String toJson(JsonNode value) {
        if (value.isString()) {
            return jsonString(value.stringValue());
        }
        if (value.isNull() || value.isMissingNode()) {
            return "null";
        }
        if (value.isBoolean()) {
            return value.booleanValue() ? "true" : "false";
        }
        if (value.isIntegralNumber()) {
            return value.bigIntegerValue().toString();
        }
        if (value.isNumber()) {
            return floatRepr(value.doubleValue(), true);
        }
        if (value.isArray()) {
            return join(value.iterator(), "[", "]", PythonValues::toJson);
        }
        if (value.isObject()) {
            return join(value.properties().iterator(), "{", "}",
                    e -> jsonString(e.getKey()) + ": " + toJson(e.getValue()));
        }
        return jsonString(value.asString());
    }

    private static <T> String join(Iterator<T> elements, String open, String close,
            java.util.function.Function<T, String> format) {
        StringBuilder out = new StringBuilder(open);
        while (elements.hasNext()) {
            out.append(format.apply(elements.next()));
            if (elements.hasNext()) {
                out.append(", ");
            }
        }
        return out.append(close).toString();
    }

    /** json's encoder with ensure_ascii=False: only the quote, the backslash and C0 controls are escaped. */
    static String jsonString(String text) {
        StringBuilder out = new StringBuilder(text.length() + 2).append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    }
                    else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }

    /** Python's {@code repr()} of a str: single quotes unless only double quotes avoid escaping. */
    static String stringRepr(String text) {
        char quote = text.indexOf('\'') >= 0 && text.indexOf('"') < 0 ? '"' : '\'';
        StringBuilder out = new StringBuilder(text.length() + 2).append(quote);
        text.codePoints().forEach(c -> {
            if (c == quote || c == '\\') {
                out.append('\\').appendCodePoint(c);
            }
            else if (c == '\n') {
                out.append("\\n");
            }
            else if (c == '\r') {
                out.append("\\r");
            }
            else if (c == '\t') {
                out.append("\\t");
            }
            else if (c == ' ' || isPrintable(c)) {
                out.appendCodePoint(c);
            }
            else if (c < 0x100) {
                out.append(String.format("\\x%02x", c));
            }
            else if (c < 0x10000) {
                out.append(String.format("\\u%04x", c));
            }
            else {
                out.append(String.format("\\U%08x", c));
            }
        });
        return out.append(quote).toString();
    }

    /** Python's {@code str.isprintable()} for one character: not Cc, Cf, Cs, Co, Cn, Zl, Zp or Zs. */
    private static boolean isPrintable(int c) {
        return switch (Character.getType(c)) {
            case Character.CONTROL, Character.FORMAT, Character.SURROGATE, Character.PRIVATE_USE, Character.UNASSIGNED,
                    Character.LINE_SEPARATOR, Character.PARAGRAPH_SEPARATOR, Character.SPACE_SEPARATOR -> false;
            default -> true;
        };
    }

    /**
     * Python's {@code repr()} of a float: the shortest decimal that reads back as the same double (the
     * nearest such when several are as short), in positional notation for exponents -4 to 15 and as
     * {@code 1e-05}, {@code 1.5e+16} otherwise. {@code json.dumps} spells the non-finite values NaN and
     * Infinity; {@code repr()} spells them nan and inf.
     */
    static String floatRepr(double value, boolean json) {
        if (Double.isNaN(value)) {
            return json ? "NaN" : "nan";
        }
        if (Double.isInfinite(value)) {
            return (value < 0 ? "-" : "") + (json ? "Infinity" : "inf");
        }
        if (value == 0.0) {
            return 1.0 / value < 0 ? "-0.0" : "0.0";
        }
        BigDecimal shortest = shortestDecimal(value).stripTrailingZeros();
        String digits = shortest.unscaledValue().abs().toString();
        int exponent = digits.length() - 1 - shortest.scale(); // of the first digit
        String sign = value < 0 ? "-" : "";
        if (exponent >= -4 && exponent < 16) {
            String plain = shortest.abs().toPlainString();
            return sign + (plain.indexOf('.') < 0 ? plain + ".0" : plain);
        }
        String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (Math.abs(exponent) < 10 ? "0" : "")
                + Math.abs(exponent);
    }

    private static BigDecimal shortestDecimal(double value) {
        BigDecimal exact = new BigDecimal(value);
        for (int precision = 1; precision < 17; precision++) {
            BigDecimal nearest = exact.round(new MathContext(precision, RoundingMode.HALF_EVEN));
            if (nearest.doubleValue() == value) {
                return nearest;
            }
            // where the doubles around a power of two are unevenly spaced, a neighbour may read back when the nearest does not
            BigDecimal step = BigDecimal.ONE.scaleByPowerOfTen(nearest.precision() - nearest.scale() - precision);
            for (BigDecimal neighbour : List.of(nearest.add(step), nearest.subtract(step))) {
                if (neighbour.doubleValue() == value) {
                    return neighbour;
                }
            }
        }
        return exact.round(new MathContext(17, RoundingMode.HALF_EVEN));
    }
}
