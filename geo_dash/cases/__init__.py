"""Grievance cases (vụ việc khiếu nại, tố cáo, kiến nghị, phản ánh).

A case is one petition/complaint matter, never a person: no names, ID
numbers, phone numbers or addresses of people are stored.

Pure (database-free) layers live in :mod:`geo_dash.cases.vocab` (enumerations),
:mod:`geo_dash.cases.rules` (deadlines, mass-petition and prolonged flags),
:mod:`geo_dash.cases.places` (commune resolution), :mod:`geo_dash.cases.parsing`
(CSV/XLSX reading and row validation) and :mod:`geo_dash.cases.template`
(the XLSX import template).
"""
