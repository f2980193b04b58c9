package io.mmemu.program;

import java.io.IOException;
import java.nio.MappedByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.agrona.IoUtil;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.status.CountersReader;

/**
 * The live counters file of a run (as Aeron's CnC file): a header, then an Agrona counters
 * metadata buffer and values buffer, memory-mapped by the running emulator ({@link LiveCounters})
 * and by readers in other processes ({@code mmemu stat}).
 * <pre>
 * 0    int  magic "MMEC"          8   long pid of the run       16  long start, epoch ms
 * 24   int  version               28  int  status: 1 running, 2 ended (volatile)
 * 32   int  program name length   36  program name, UTF-8, at most {@link #MAX_NAME} bytes
 * 256  metadata: {@link #COUNTERS} × CountersReader.METADATA_LENGTH
 * ...  values:   {@link #COUNTERS} × CountersReader.COUNTER_LENGTH
 * </pre>
 * The header is written before the status becomes RUNNING (a volatile store); a reader that sees
 * RUNNING sees the header and the counters' metadata.
 */
public final class CountersFile implements AutoCloseable
{
    public static final int MAGIC = 0x4345_4d4d; // "MMEC" little-endian
    public static final int VERSION = 1;
    public static final int RUNNING = 1;
    public static final int ENDED = 2;
    static final int COUNTERS = 32;
    static final int MAX_NAME = 200;
    private static final int PID_OFFSET = 8;
    private static final int START_OFFSET = 16;
    private static final int VERSION_OFFSET = 24;
    private static final int STATUS_OFFSET = 28;
    private static final int NAME_LENGTH_OFFSET = 32;
    private static final int NAME_OFFSET = 36;
    private static final int HEADER_LENGTH = 256;
    private static final int METADATA_LENGTH = COUNTERS * CountersReader.METADATA_LENGTH;
    private static final int VALUES_LENGTH = COUNTERS * CountersReader.COUNTER_LENGTH;
    private static final int FILE_LENGTH = HEADER_LENGTH + METADATA_LENGTH + VALUES_LENGTH;
    /** The file name prefix in {@link #defaultDirectory()}; the pid and ".counters" follow. */
    public static final String PREFIX = "mmemu-";
    public static final String SUFFIX = ".counters";

    private final MappedByteBuffer mapped;
    private final UnsafeBuffer header;
    private final UnsafeBuffer metadata;
    private final UnsafeBuffer values;

    private CountersFile(final MappedByteBuffer mapped)
    {
        this.mapped = mapped;
        this.header = new UnsafeBuffer(mapped, 0, HEADER_LENGTH);
        this.metadata = new UnsafeBuffer(mapped, HEADER_LENGTH, METADATA_LENGTH);
        this.values = new UnsafeBuffer(mapped, HEADER_LENGTH + METADATA_LENGTH, VALUES_LENGTH);
    }

    /** Where runs put their counters by default: /dev/shm when there is one (memory, like Aeron), else the temp dir. */
    public static Path defaultDirectory()
    {
        final Path shm = Path.of("/dev/shm");
        return Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
    }

    /** The default file of the process {@code pid}. */
    public static Path defaultFile(final long pid)
    {
        return defaultDirectory().resolve(PREFIX + pid + SUFFIX);
    }

    /** Creates (or replaces) the file, zeroed, with its header; status not yet RUNNING. */
    static CountersFile create(final Path path, final String programName) throws IOException
    {
        Files.deleteIfExists(path);
        final CountersFile file = new CountersFile(IoUtil.mapNewFile(path.toFile(), FILE_LENGTH));
        file.header.putLong(PID_OFFSET, ProcessHandle.current().pid());
        file.header.putLong(START_OFFSET, System.currentTimeMillis());
        file.header.putInt(VERSION_OFFSET, VERSION);
        final byte[] name = programName.getBytes(StandardCharsets.UTF_8);
        final int length = Math.min(name.length, MAX_NAME);
        file.header.putInt(NAME_LENGTH_OFFSET, length);
        file.header.putBytes(NAME_OFFSET, name, 0, length);
        file.header.putInt(0, MAGIC);
        return file;
    }

    /** Maps an existing file for reading; throws with a clear message when it is not a counters file. */
    public static CountersFile open(final Path path) throws IOException
    {
        if (!Files.isRegularFile(path))
        {
            throw new IOException(path + ": no such counters file");
        }
        if (Files.size(path) != FILE_LENGTH)
        {
            throw new IOException(path + ": not an mmemu counters file (size " + Files.size(path) + ", expected " + FILE_LENGTH + ")");
        }
        final CountersFile file = new CountersFile(IoUtil.mapExistingFile(path.toFile(), "mmemu counters"));
        if (file.header.getInt(0) != MAGIC || file.header.getInt(VERSION_OFFSET) != VERSION)
        {
            file.close();
            throw new IOException(path + ": not an mmemu counters file of version " + VERSION);
        }
        return file;
    }

    UnsafeBuffer metadata()
    {
        return metadata;
    }

    UnsafeBuffer values()
    {
        return values;
    }

    /** A reader of the counters (labels and values). */
    public CountersReader reader()
    {
        return new CountersReader(metadata, values);
    }

    public long pid()
    {
        return header.getLong(PID_OFFSET);
    }

    public long startMillis()
    {
        return header.getLong(START_OFFSET);
    }

    public String programName()
    {
        final int length = Math.min(Math.max(header.getInt(NAME_LENGTH_OFFSET), 0), MAX_NAME);
        return header.getStringWithoutLengthUtf8(NAME_OFFSET, length);
    }

    /** RUNNING, ENDED, or 0 while the file is being set up. */
    public int status()
    {
        return header.getIntVolatile(STATUS_OFFSET);
    }

    void status(final int status)
    {
        header.putIntVolatile(STATUS_OFFSET, status);
    }

    /** Whether the process that wrote the file is still alive and says it is running. */
    public boolean live()
    {
        return status() == RUNNING && ProcessHandle.of(pid()).map(ProcessHandle::isAlive).orElse(false);
    }

    @Override
    public void close()
    {
        IoUtil.unmap(mapped);
    }
}
