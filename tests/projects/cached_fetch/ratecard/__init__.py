"""Price shipments in their destination currency."""
