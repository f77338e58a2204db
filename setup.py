"""Install kd.  Use `make install` (tools/install.sh) for the full stack:
it builds mmcv with ops and never pulls a CUDA build of torch."""
import os.path as osp

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

PTH = 'kd-mmengine-scope.pth'

HERE = osp.dirname(osp.abspath(__file__))


def read_requirements(name):
    path = osp.join(HERE, 'requirements', name)
    reqs = []
    with open(path) as f:
        for line in f:
            line = line.split('#', 1)[0].strip()
            if line and not line.startswith('-r'):
                reqs.append(line)
    return reqs


def version():
    scope = {}
    with open(osp.join(HERE, 'kd', 'version.py')) as f:
        exec(f.read(), scope)
    return scope['__version__']


class BuildPyWithPth(build_py):
    """Also put ``kd-mmengine-scope.pth`` at the root of site-packages.

    It imports ``kd_mmengine_scope`` at interpreter start, which lets MMEngine
    resolve ``kd::`` config paths before anything imports kd (see that module).
    """

    def run(self):
        super().run()
        if not getattr(self, 'editable_mode', False):
            self.copy_file(osp.join(HERE, PTH), osp.join(self.build_lib, PTH))

    def get_outputs(self, include_bytecode=True):
        outputs = super().get_outputs(include_bytecode)
        if getattr(self, 'editable_mode', False):   # tools/install.sh writes it instead
            return outputs
        return outputs + [osp.join(self.build_lib, PTH)]


setup(
    name='kd',
    version=version(),
    description='Knowledge distillation for object detection and image '
                'classification on MMEngine / MMDetection',
    long_description=open(osp.join(HERE, 'README.md')).read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'tools')),
    py_modules=['kd_mmengine_scope'],
    cmdclass={'build_py': BuildPyWithPth},
    include_package_data=True,
    # kd/.mim/{configs,tools,model-index.yml} are links to the repository's own
    # (tracked in git; OpenMMLab's setup.py creates the same links at build time); a
    # wheel gets copies, so `kd::` config paths work after a non-editable install.
    # This is the layout openmim expects; `mim` itself is not tested here.
    package_data={'kd': ['.mim/model-index.yml', '.mim/configs/**/*.py',
                         '.mim/configs/**/*.md', '.mim/configs/**/*.yml',
                         '.mim/tools/*.py', '.mim/tools/*.sh', '.mim/tools/**/*.py',
                         '.mim/tools/**/*.sh']},
    install_requires=read_requirements('runtime.txt'),
    extras_require={
        'tests': read_requirements('tests.txt'),
        'optional': read_requirements('optional.txt'),
        # mmcv must be built with ops; see tools/install.sh
        'mim': read_requirements('mminstall.txt'),
    },
    license='Apache-2.0',
    zip_safe=False,
)
