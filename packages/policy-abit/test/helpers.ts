// Crafted topologies, budgets and chunks for this package's tests: core's test kit.
export * from "@kmm/core/TestKit"
