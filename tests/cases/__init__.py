"""Tests of the grievance-case parsing layer (geo_dash.cases)."""
