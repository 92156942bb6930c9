"""Provider backends of telephony, one module per capability (see config.providers)."""
