// Placeholder build until the dashboard lands: nothing to bundle yet.
