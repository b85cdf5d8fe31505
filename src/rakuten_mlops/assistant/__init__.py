"""The assistant: plain English or French to platform actions (tools, planning, confirmation)."""
