from .codes import Fee, FeeSchedule, ProcedureCode

__all__ = ["Fee", "FeeSchedule", "ProcedureCode"]
