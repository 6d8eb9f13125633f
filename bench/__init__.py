"""Benchmarks: `make bench` prints DynamoDB round trips and timings per request."""
