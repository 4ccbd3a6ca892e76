"""What Aura tells operators about itself: Prometheus metrics and structured logs."""
