"""Apps: profiles designed from an intent, and the records their builds leave."""
