package dev.kotodama.harmony;

import static dev.kotodama.harmony.PythonValues.attr;
import static dev.kotodama.harmony.PythonValues.concatenable;
import static dev.kotodama.harmony.PythonValues.containsOrEmpty;
import static dev.kotodama.harmony.PythonValues.isText;
import static dev.kotodama.harmony.PythonValues.iterate;
import static dev.kotodama.harmony.PythonValues.items;
import static dev.kotodama.harmony.PythonValues.length;
import static dev.kotodama.harmony.PythonValues.str;
import static dev.kotodama.harmony.PythonValues.toJson;
import static dev.kotodama.harmony.PythonValues.truthy;

import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;

/**
 * The template's macros {@code render_tool_namespace} and {@code render_typescript_type}: function tools
 * as a TypeScript-like namespace, whitespace quirks included. Two of them look like mistakes and are
 * kept, since the model was trained on what the template renders: a nested object's property types
 * follow a newline and sixteen spaces (a {@code {{ }}} without {@code -}), and a {@code oneOf} of
 * objects never collapses to {@code any} (the flag is set inside a loop, which Jinja scopes to the loop).
 */
final class ToolNamespace {

    private static final String NESTED_TYPE_INDENT = "\n" + " ".repeat(16);

    private static final String VARIANT_DEFAULT_INDENT = " ".repeat(20);

    private ToolNamespace() {
    }

    /** {@code render_tool_namespace("functions", tools)}. */
    static String render(List<ToolDefinition> tools) {
        StringBuilder out = new StringBuilder("## functions\n\nnamespace functions {\n\n");
        for (ToolDefinition tool : tools) {
            out.append("// ").append(tool.description()).append('\n');
            out.append("type ").append(tool.name()).append(" = ");
            JsonNode parameters = tool.parameters();
            JsonNode properties = attr(parameters, "properties");
            if (truthy(parameters) && truthy(properties)) {
                out.append("(_: {\n");
                JsonNode required = attr(parameters, "required");
                for (Map.Entry<String, JsonNode> parameter : items(properties, where(tool, "properties"))) {
                    appendParameter(out, tool, parameter.getKey(), parameter.getValue(), required);
                }
                out.append("}) => any;\n\n");
            }
            else {
                out.append("() => any;\n\n");
            }
        }
        return out.append("} // namespace functions").toString();
    }

    private static void appendParameter(StringBuilder out, ToolDefinition tool, String name, JsonNode spec,
            @Nullable JsonNode required) {
        String where = where(tool, "parameter '" + name + "'");
        JsonNode description = attr(spec, "description");
        if (truthy(description)) {
            out.append("// ").append(concatenable(description, where + ": its description")).append('\n');
        }
        out.append(name);
        if (!containsOrEmpty(required, name, where(tool, "required"))) {
            out.append('?');
        }
        out.append(": ").append(typeOf(spec, where));
        JsonNode defaultValue = attr(spec, "default");
        if (defaultValue != null) {
            if (truthy(attr(spec, "enum"))) {
                out.append(", // default: ").append(concatenable(defaultValue, where + ": the default of an enum"));
            }
            else if (truthy(attr(spec, "oneOf"))) {
                out.append("// default: ").append(concatenable(defaultValue, where + ": the default of a oneOf"));
            }
            else {
                out.append(", // default: ").append(toJson(defaultValue));
            }
        }
        out.append(",\n");
    }

    /** {@code render_typescript_type(spec)}. */
    static String typeOf(@Nullable JsonNode spec, String where) {
        JsonNode type = attr(spec, "type");
        if (isText(type, "array")) {
            return arrayType(spec, where) + (truthy(attr(spec, "nullable")) ? " | null" : "");
        }
        if (type != null && type.isArray() && !type.isEmpty()) {
            return type.size() > 1 ? iterate(type, where).stream().map(PythonValues::str).collect(Collectors.joining(" | "))
                    : str(type.get(0));
        }
        JsonNode oneOf = attr(spec, "oneOf");
        if (truthy(oneOf)) {
            return unionType(oneOf, where);
        }
        if (isText(type, "string")) {
            JsonNode values = attr(spec, "enum");
            if (truthy(values)) {
                return "\"" + iterate(values, where + ": its enum").stream().map(PythonValues::str)
                        .collect(Collectors.joining("\" | \"")) + "\"";
            }
            return "string" + (truthy(attr(spec, "nullable")) ? " | null" : "");
        }
        if (isText(type, "number") || isText(type, "integer")) {
            return "number";
        }
        if (isText(type, "boolean")) {
            return "boolean";
        }
        if (isText(type, "object")) {
            JsonNode properties = attr(spec, "properties");
            return truthy(properties) ? objectType(spec, properties, where) : "object";
        }
        return "any";
    }

    private static String arrayType(@Nullable JsonNode spec, String where) {
        JsonNode items = attr(spec, "items");
        if (!truthy(items)) {
            return "any[]";
        }
        JsonNode itemType = attr(items, "type");
        if (isText(itemType, "string")) {
            return "string[]";
        }
        if (isText(itemType, "number") || isText(itemType, "integer")) {
            return "number[]";
        }
        if (isText(itemType, "boolean")) {
            return "boolean[]";
        }
        String inner = typeOf(items, where);
        return inner.equals("object | object") || length(inner) > 50 ? "any[]" : inner + "[]";
    }

    private static String unionType(JsonNode oneOf, String where) {
        StringBuilder out = new StringBuilder();
        for (Iterator<JsonNode> variants = iterate(oneOf, where + ": its oneOf").iterator(); variants.hasNext();) {
            JsonNode variant = variants.next();
            out.append(typeOf(variant, where));
            JsonNode description = attr(variant, "description");
            if (truthy(description)) {
                out.append("// ").append(concatenable(description, where + ": a oneOf description"));
            }
            JsonNode defaultValue = attr(variant, "default");
            if (defaultValue != null) {
                out.append(VARIANT_DEFAULT_INDENT).append("// default: ").append(toJson(defaultValue));
            }
            if (variants.hasNext()) {
                out.append(" | \n");
            }
        }
        return out.toString();
    }

    private static String objectType(JsonNode spec, JsonNode properties, String where) {
        StringBuilder out = new StringBuilder("{\n");
        JsonNode required = attr(spec, "required");
        for (Iterator<Map.Entry<String, JsonNode>> it = items(properties, where + ": its properties").iterator();
                it.hasNext();) {
            Map.Entry<String, JsonNode> property = it.next();
            out.append(property.getKey());
            if (!containsOrEmpty(required, property.getKey(), where + ": its required")) {
                out.append('?');
            }
            out.append(": ").append(NESTED_TYPE_INDENT).append(typeOf(property.getValue(), where));
            if (it.hasNext()) {
                out.append(", ");
            }
        }
        return out.append('}').toString();
    }

    private static String where(ToolDefinition tool, String part) {
        return "tool '" + tool.name() + "', " + part;
    }

    /** {@code render_builtin_tools(browser, python)}: fixed text. */
    static String builtinTools(boolean browser, boolean python) {
        StringBuilder out = new StringBuilder();
        if (browser) {
            out.append("""
                    ## browser

                    // Tool for browsing.
                    // The `cursor` appears in brackets before each browsing display: `[{cursor}]`.
                    // Cite information from the tool using the following format:
                    // `【{cursor}†L{line_start}(-L{line_end})?】`, for example: `【6†L9-L11】` or `【8†L3】`.
                    // Do not quote more than 10 words directly from the tool output.
                    // sources=web (default: web)
                    namespace browser {

                    // Searches for information related to `query` and displays `topn` results.
                    type search = (_: {
                    query: string,
                    topn?: number, // default: 10
                    source?: string,
                    }) => any;

                    // Opens the link `id` from the page indicated by `cursor` starting at line number `loc`, \
                    showing `num_lines` lines.
                    // Valid link ids are displayed with the formatting: `【{id}†.*】`.
                    // If `cursor` is not provided, the most recent page is implied.
                    // If `id` is a string, it is treated as a fully qualified URL associated with `source`.
                    // If `loc` is not provided, the viewport will be positioned at the beginning of the document \
                    or centered on the most relevant passage, if available.
                    // Use this function without `id` to scroll to a new location of an opened page.
                    type open = (_: {
                    id?: number | string, // default: -1
                    cursor?: number, // default: -1
                    loc?: number, // default: -1
                    num_lines?: number, // default: -1
                    view_source?: boolean, // default: false
                    source?: string,
                    }) => any;

                    // Finds exact matches of `pattern` in the current page, or the page given by `cursor`.
                    type find = (_: {
                    pattern: string,
                    cursor?: number, // default: -1
                    }) => any;

                    } // namespace browser

                    """);
        }
        if (python) {
            out.append("""
                    ## python

                    Use this tool to execute Python code in your chain of thought. The code will not be shown to \
                    the user. This tool should be used for internal reasoning, but not for code that is intended \
                    to be visible to the user (e.g. when creating plots, tables, or files).

                    When you send a message containing Python code to python, it will be executed in a stateful \
                    Jupyter notebook environment. python will respond with the output of the execution or time out \
                    after 120.0 seconds. The drive at '/mnt/data' can be used to save and persist user files. \
                    Internet access for this session is UNKNOWN. Depends on the cluster.

                    """);
        }
        return out.toString();
    }
}
