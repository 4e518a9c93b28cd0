// Tests read their own assertions, not the functions' JSON logs and EMF metric lines.
process.env.LOG_LEVEL ??= 'silent';
process.env.METRICS_DISABLED ??= 'true';
