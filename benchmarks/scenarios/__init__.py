"""The benchmark's scenarios: each runs against its own fake and returns a `Section`."""
