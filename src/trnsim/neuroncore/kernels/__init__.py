"""trnsim's own NKI kernels used for calibration and validation."""
