// CRMWorld: see the module's files.
