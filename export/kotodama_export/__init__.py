"""Kotodama export: LLM-jp-4 checkpoints to ONNX, and the files the Java runtime needs beside them."""

__version__ = "0.1.0"
