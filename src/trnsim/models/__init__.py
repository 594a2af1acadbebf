"""Model architectures (from Hugging Face config.json) -> per-phase op lists."""
