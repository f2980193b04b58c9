package io.mmemu.elf;

/**
 * An exec the kernel would refuse, or a file mmemu cannot read to lay one out. The message names
 * the file, and the offset in it where one applies: {@code /bin/x: offset 0x12: e_machine 3 is not x86-64 (62)}.
 */
public final class ExecException extends Exception
{
    private static final long serialVersionUID = 1L;

    public ExecException(final String message)
    {
        super(message);
    }

    public ExecException(final String message, final Throwable cause)
    {
        super(message, cause);
    }
}
