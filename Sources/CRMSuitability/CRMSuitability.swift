// CRMSuitability: see the module's files.
