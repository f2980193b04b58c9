package io.mmemu.program;

/**
 * An integer expression of a program: 64-bit two's-complement arithmetic, as C's unsigned long on
 * x86-64 ({@code + - *} wrap; {@code / %} are unsigned, as addresses and sizes are). Variables are
 * slots of the running thread's frame, resolved when the program is parsed.
 */
sealed interface Expr
{
    /** The value in a thread's frame; throws {@link ProgramError} only for a division by zero. */
    long evaluate(long[] frame);

    /** Whether the value is known without a frame (no variables). */
    boolean isConstant();

    record Constant(long value) implements Expr
    {
        @Override
        public long evaluate(final long[] frame)
        {
            return value;
        }

        @Override
        public boolean isConstant()
        {
            return true;
        }
    }

    record Variable(String name, int slot) implements Expr
    {
        @Override
        public long evaluate(final long[] frame)
        {
            return frame[slot];
        }

        @Override
        public boolean isConstant()
        {
            return false;
        }
    }

    /** {@code left OP right}; {@code line} and {@code column} name the operator, for a division by zero. */
    record Binary(char operator, Expr left, Expr right, int line, int column) implements Expr
    {
        @Override
        public long evaluate(final long[] frame)
        {
            final long a = left.evaluate(frame);
            final long b = right.evaluate(frame);
            return switch (operator)
            {
                case '+' -> a + b;
                case '-' -> a - b;
                case '*' -> a * b;
                case '/', '%' ->
                {
                    if (b == 0)
                    {
                        throw new ProgramError(line, column, "division by zero");
                    }
                    yield operator == '/' ? Long.divideUnsigned(a, b) : Long.remainderUnsigned(a, b);
                }
                default -> throw new IllegalStateException("operator " + operator);
            };
        }

        @Override
        public boolean isConstant()
        {
            return left.isConstant() && right.isConstant();
        }
    }
}
