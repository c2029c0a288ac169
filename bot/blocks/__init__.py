"""Block Kit builders: pure functions from engine results to Slack messages and views."""
