import CRMWire
import Testing

@Suite struct RPCErrorTests {
    @Test func statusRoundTripKeepsCodeMessageAndFields() {
        let error = RPCError.invalidArguments([
            FieldViolation(field: "trades[3].quantity", description: "must be positive"),
            FieldViolation(field: "trades[3].price", description: "is required"),
        ])
        let back = RPCError(status: error.status)
        #expect(back == error)
        #expect(back.code == .invalidArgument)
        #expect(back.message == "trades[3].quantity: must be positive; trades[3].price: is required")
        #expect(back.fieldViolations.map(\.field) == ["trades[3].quantity", "trades[3].price"])
    }

    @Test func everyCanonicalCodeHasItsGRPCNumberAndName() {
        let expected: [(StatusCode, Int, String)] = [
            (.ok, 0, "OK"), (.cancelled, 1, "CANCELLED"), (.unknown, 2, "UNKNOWN"), (.invalidArgument, 3, "INVALID_ARGUMENT"),
            (.deadlineExceeded, 4, "DEADLINE_EXCEEDED"), (.notFound, 5, "NOT_FOUND"), (.alreadyExists, 6, "ALREADY_EXISTS"),
            (.permissionDenied, 7, "PERMISSION_DENIED"), (.resourceExhausted, 8, "RESOURCE_EXHAUSTED"),
            (.failedPrecondition, 9, "FAILED_PRECONDITION"), (.aborted, 10, "ABORTED"), (.outOfRange, 11, "OUT_OF_RANGE"),
            (.unimplemented, 12, "UNIMPLEMENTED"), (.internal, 13, "INTERNAL"), (.unavailable, 14, "UNAVAILABLE"),
            (.dataLoss, 15, "DATA_LOSS"), (.unauthenticated, 16, "UNAUTHENTICATED"),
        ]
        #expect(expected.count == 17)
        for (code, number, name) in expected {
            #expect(code.rawValue == number)
            #expect(code.canonicalName == name)
        }
    }
}
