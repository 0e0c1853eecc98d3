"""The demo month (`cunliao seed-demo --month`): a month of work in both demo towns, made by the
engine and the API as the demo people would make it."""
