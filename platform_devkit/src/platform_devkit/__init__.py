"""What runs the platform on a developer's machine and under the tests, never in an image:
child processes (SecantusDB, the services), the stack's start-up, the pytest plugin and
development tokens."""
