"""The fault suite (`make test-faults`): crashes and outages under load, nothing lost after."""
