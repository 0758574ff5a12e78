package dev.kotodama.harmony;

/** The template's built-in tools (its {@code builtin_tools} argument), described in the system block. */
public enum BuiltinTool {
    BROWSER, PYTHON
}
