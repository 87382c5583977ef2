"""Reference solutions of the exercises, used only by the tests: never published, never in utils/."""
