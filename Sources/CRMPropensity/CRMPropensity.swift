// CRMPropensity: see the module's files.
