"""The web app for coaches and case managers, served by the API's process under `/app`."""
