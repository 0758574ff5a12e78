"""The demo model: a small LLM-jp-4-shaped Llama trained on a synthetic Harmony corpus (issue 5)."""
