"""Where the office's X12 files go: the clearinghouse interface (`adapter`) and the local test clearinghouse
(`local`), which answers in the real formats."""
