package io.mmemu.vm;

/**
 * The errno values the memory syscalls return (as {@code -errno}, like the kernel), with the names
 * and the messages strace prints for them.
 */
public final class Errno
{
    public static final int EPERM = 1;
    public static final int ENOENT = 2;
    public static final int EINTR = 4;
    public static final int EBADF = 9;
    public static final int EAGAIN = 11;
    public static final int ENOMEM = 12;
    public static final int EACCES = 13;
    public static final int EFAULT = 14;
    public static final int EBUSY = 16;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;
    public static final int EINVAL = 22;
    public static final int ENFILE = 23;
    public static final int EMFILE = 24;
    public static final int ETXTBSY = 26;
    public static final int EFBIG = 27;
    public static final int EOVERFLOW = 75;
    public static final int ENOSYS = 38;
    public static final int EOPNOTSUPP = 95;

    private static final String[] NAMES = new String[128];
    private static final String[] MESSAGES = new String[128];

    static
    {
        define(EPERM, "EPERM", "Operation not permitted");
        define(ENOENT, "ENOENT", "No such file or directory");
        define(EINTR, "EINTR", "Interrupted system call");
        define(EBADF, "EBADF", "Bad file descriptor");
        define(EAGAIN, "EAGAIN", "Resource temporarily unavailable");
        define(ENOMEM, "ENOMEM", "Cannot allocate memory");
        define(EACCES, "EACCES", "Permission denied");
        define(EFAULT, "EFAULT", "Bad address");
        define(EBUSY, "EBUSY", "Device or resource busy");
        define(EEXIST, "EEXIST", "File exists");
        define(ENODEV, "ENODEV", "No such device");
        define(EINVAL, "EINVAL", "Invalid argument");
        define(ENFILE, "ENFILE", "Too many open files in system");
        define(EMFILE, "EMFILE", "Too many open files");
        define(ETXTBSY, "ETXTBSY", "Text file busy");
        define(EFBIG, "EFBIG", "File too large");
        define(ENOSYS, "ENOSYS", "Function not implemented");
        define(EOVERFLOW, "EOVERFLOW", "Value too large for defined data type");
        define(EOPNOTSUPP, "EOPNOTSUPP", "Operation not supported");
    }

    private Errno()
    {
    }

    private static void define(final int errno, final String name, final String message)
    {
        NAMES[errno] = name;
        MESSAGES[errno] = message;
    }

    /** {@code ENOMEM} for 12; {@code E<n>} for values without a name here. */
    public static String name(final int errno)
    {
        return errno > 0 && errno < NAMES.length && NAMES[errno] != null ? NAMES[errno] : "E" + errno;
    }

    public static String message(final int errno)
    {
        return errno > 0 && errno < MESSAGES.length && MESSAGES[errno] != null ? MESSAGES[errno] : "Unknown error " + errno;
    }

    /** The value for a name such as {@code ENOMEM}, or -1. */
    public static int valueOf(final String name)
    {
        for (int i = 0; i < NAMES.length; i++)
        {
            if (name.equals(NAMES[i]))
            {
                return i;
            }
        }
        return -1;
    }

    /** Whether a syscall's return value is an error: the kernel's IS_ERR_VALUE, -4095..-1. */
    public static boolean isError(final long value)
    {
        return value < 0 && value >= -4095;
    }

    /** The errno of a result strace printed as {@code -1 ENOMEM (...)}, or 0 when it is not an error. */
    public static int fromStraceError(final String result)
    {
        if (!result.startsWith("-1 E"))
        {
            return 0;
        }
        final int end = result.indexOf(' ', 3);
        final int errno = valueOf(end < 0 ? result.substring(3) : result.substring(3, end));
        return Math.max(errno, 0);
    }

    /** A syscall result as strace prints it after {@code = }: {@code -1 ENOMEM (Cannot allocate memory)}. */
    public static String straceError(final int errno)
    {
        return "-1 " + name(errno) + " (" + message(errno) + ")";
    }
}
