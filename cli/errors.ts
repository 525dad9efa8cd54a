/** A problem the operator can act on: printed as one sentence, without a stack trace. */
export class OperatorError extends Error {
    constructor(message: string, readonly exitCode = 1) {
        super(message);
        this.name = "OperatorError";
    }
}

/** Wrong use of a command (an unknown option, a missing argument): exit code 2, like getopt. */
export class UsageError extends OperatorError {
    constructor(message: string) {
        super(message, 2);
        this.name = "UsageError";
    }
}
